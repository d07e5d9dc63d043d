"""Tests of incrinstall/install/: state, journal, locks, overlaps, editable refresh, crash recovery."""
