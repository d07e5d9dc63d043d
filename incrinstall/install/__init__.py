"""Applying a plan (installer, journal) and the records kept in the target (state, stamp)."""
