"""Infrastructure shared by every door: auth, tenancy, HTTP plumbing, logging."""
