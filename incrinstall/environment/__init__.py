"""The target environment: its interpreter (probed once) and the distributions installed in it."""
