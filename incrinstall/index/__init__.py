"""Package indexes and find-links: versions, files and core metadata for the target."""
