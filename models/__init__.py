"""Storage: settings, the ORM models and migrations, the queries and the reports."""

__all__: list[str] = []
