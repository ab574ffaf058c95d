"""mdhub's client distribution, ``pip install mdhub-client`` (clients/python/README.md).

For now the tick client itself is ``aggregation.client`` (shipped in the same wheel, with the
two Django-free modules it imports); it moves here in one step once its journal work has
landed. What lives here already: the hub's contract universe (``universe``) and the vn.py
gateway (``vnpy_gateway.MdhubGateway``, needs vn.py: ``pip install "mdhub-client[vnpy]"``).
No module of this package imports Django.
"""

# The wheel's version (clients/python/pyproject.toml reads it from here).
__version__ = "0.1.0"
