"""Tests of incrinstall/common/: HTTP, unpacking, credentials, the one configuration, caches."""
