"""The slow suites: Docker with a real engine, kill trials, the fault matrix, concurrency."""
