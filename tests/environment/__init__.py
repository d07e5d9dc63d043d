"""Tests of incrinstall/environment/: the target interpreter and its installed distributions."""
