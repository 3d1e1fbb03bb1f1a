"""A several-node rehearsal on one machine: two `serve` nodes and two `worker` nodes, each in a
network namespace of its own, against PostgreSQL, RabbitMQ and the strict S3 on the host side.

`make rehearsal` runs the full version (`python -m tests.rehearsal`); `test_several_nodes.py`
runs a short one in `make test`. Root only (namespaces and veth pairs).
"""
