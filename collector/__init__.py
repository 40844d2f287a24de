"""The collector: survey pages, the JSON API and the `rapport` command."""

__all__: list[str] = []
