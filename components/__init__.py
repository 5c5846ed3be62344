"""tkestack package."""
