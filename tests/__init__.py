"""incrinstall's test suite: a folder per stage of incrinstall/, plus e2e/, slow/ and meta/."""
