"""A believable demo brand, generated in seconds, with a planted truth to find.

``await generate(*, contractors=300, weeks=12, jobs_per_week=2400, seed=7,
wipe=False, now=None) -> DemoResult`` fills an open database (the ORM must be
initialised, e.g. inside ``models.db.database()``) and prints nothing; the
CLI prints ``DemoResult.api_key`` and the links of ``.survey_token`` and
``.pulse_token`` (the collector builds link addresses: ``collector.settings.link_url``).

The brand: contractors over five regions and four service types, started
over the last three years; one pulse wave a week (the last one still open)
with an invite per contractor and about 70 % answering; jobs spread over the
weeks with about 30 % of customers answering. Each contractor has a latent
bond = regional effect + individual effect; each pulse dimension is that bond
plus its own noise, and items are answered 1-5 around it (with noise, a few
careless flipped answers and some skipped optional questions). Customers'
CSAT, NPS, CES and promise-kept rise with the contractor's connection and
empowerment above all (plus regional and service effects and per-job noise),
so at contractor level CEI and CSAT mean correlate at roughly r = 0.4: an
association the analytics should find, with a confidence interval covering it.

``simulate(...)`` (same arguments, no database, no ``wipe``) draws the brand
as plain numbers (``DemoData``); ``generate()`` stores exactly that. The
planted value is ``planted_correlation()``: the contractor-level Pearson r
between CEI and CSAT mean that the model implies for the demo's design
(about 0.39 for 12 weeks and 8 jobs per contractor and week), estimated
from one simulation of 20,000 contractors and computed the way
``linkage_report`` does over the demo's whole period (lag 0, at least 3
customer responses). tests/models/test_demo.py checks that the linkage's
95 % interval on the default demo covers it.

Every pulse response is scored by ``surveys.scoring.score_pulse``; rows go
in with the bulk inserts of ``models.transfer``. The same seed gives the same
data (tokens and the API key are random on purpose: they are secrets).
A database that already holds contractors, jobs or waves is refused with
``DemoError`` unless ``wipe=True``, which first deletes all survey data and
the "demo" API key (other keys and users are kept).
"""

from models.demo.simulation import REGIONS, SERVICE_TYPES, DemoData, DemoError, planted_correlation, simulate
from models.demo.storage import DemoResult, generate, has_data

__all__ = [
    "REGIONS",
    "SERVICE_TYPES",
    "DemoData",
    "DemoError",
    "DemoResult",
    "generate",
    "has_data",
    "planted_correlation",
    "simulate",
]
