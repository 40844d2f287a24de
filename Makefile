# The two commands of the README: `make run` and `make test`.
# Both set up what they need on a fresh machine (a virtualenv; for the
# browser tests, Debian's chromium and axe-core from the npm registry, kept
# in .venv) and nothing outside this folder else.

VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
PORT    ?= 8000
DASH_PORT ?= 8050
# The accessibility checker the browser tests inject into every view (tests/dashboard/test_browser.py).
AXE_VERSION := 4.11.0
AXE     := $(VENV)/axe-core-$(AXE_VERSION)/axe.min.js

.PHONY: run test install browser postgres redis

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

# Collector on :8000 and dashboard on :8050, on a local SQLite file with demo data.
# `rapport run` starts and stops both (Ctrl-C or SIGTERM stops both, status 0);
# make runs it without a shell, so the signal reaches it directly.
run: install
	$(BIN)/rapport run --port $(PORT) --dash-port $(DASH_PORT)

# The whole suite, on SQLite and PostgreSQL, browser tests included; the rate
# limits are tested in memory and in Redis.
test: install browser postgres redis
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

browser: $(AXE)
	@command -v chromium >/dev/null || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; }

# axe-core's one-file build, fetched once with npm (the registry's tarball, checked by npm) and
# kept in the virtualenv: the tests read it from disk and never reach the network.
$(AXE): | install
	@command -v npm >/dev/null || { \
	  echo "Installing Debian's npm to fetch axe-core"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm; }
	rm -rf $(VENV)/axe-core-* && mkdir -p $(dir $@)
	cd $(dir $@) && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null && \
	  tar -xzf axe-core-$(AXE_VERSION).tgz --strip-components=1 package/axe.min.js package/LICENSE && \
	  rm axe-core-$(AXE_VERSION).tgz
	test -s $@

postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || { \
	  echo "Starting the local PostgreSQL cluster"; \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | tail -1) main start || true; \
	  for i in 1 2 3 4 5 6 7 8 9 10; do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; }

# Redis on 127.0.0.1:6379 for the rate-limit tests: started if down (installed
# with apt if missing), with no persistence; tests keep their keys under a
# prefix of their own.
redis:
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || { \
	  echo "Starting a local Redis"; \
	  command -v redis-server >/dev/null || { apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; }; \
	  mkdir -p /var/lib/redis /var/log/redis; \
	  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
	    --dir /var/lib/redis --logfile /var/log/redis/ci.log; \
	  for i in 1 2 3 4 5 6 7 8 9 10; do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done; }
