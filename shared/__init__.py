"""Event contracts and the service runtime shared by the four hotline services."""
