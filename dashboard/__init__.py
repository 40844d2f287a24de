"""The dashboard: a Dash app inside Starlette, behind a login."""

__all__: list[str] = []
