"""Integrations: each folder speaks one other system's language to modeltrail's services."""
