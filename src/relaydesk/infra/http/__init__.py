"""HTTP plumbing shared by every door: JSON responses, error rendering, dependencies."""
