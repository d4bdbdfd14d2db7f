"""Portal pages (Jinja2 templates, packaged static assets)."""
