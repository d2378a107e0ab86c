"""The commerce-platform simulator: a subscription program's event stream, sent through the public API.

- ``model``: the program in simulated time (pure: a seeded ``random.Random`` in, steps of objects and events
  out; the same seed gives the same stream);
- ``world``: its records and their Ordergroove shapes (webhook objects and snapshot records);
- ``driver``: sends the steps to a hookline server at a rate (``hookline simulate``);
- ``demo``: ``hookline serve --demo``, a receiver, a demo merchant's routes and the simulator in one process.
"""

from __future__ import annotations
