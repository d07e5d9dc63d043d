"""Tests of the house itself: the package layout and the test harness."""
