"""Test data and test drivers, one module per area: ``accounts`` (sites, tokens, users),
``cases`` (through the API and worker, or through the services in a session), ``coding``,
``database`` (emptying it, rolled-back sessions), ``dedup``, ``e2b``, ``env``, ``forms``,
``obligations``, ``products``, ``rules``, ``submissions``, ``web`` and ``worker``.
Fixtures in the conftest files only expose these."""
