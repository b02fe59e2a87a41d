"""Login, roles, permissions and delegation. `auth.permissions.allowed` is the one place that decides."""
