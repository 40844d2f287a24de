"""The pure domain: survey definitions, validation, scoring, statistics, privacy."""

__all__: list[str] = []
