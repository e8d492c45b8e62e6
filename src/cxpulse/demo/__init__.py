"""Generated demonstration data: a sample export file and a seeded service."""
