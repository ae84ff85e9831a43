"""Every table of ``chalicelib.store`` in a fresh moto account, fast.

``base.create_tables()`` asks whether each table exists, creates it and waits for it (three DescribeTable calls
and a CreateTable per table). In a ``mock_aws()`` block that has just started no table exists and creation is
instant, so one CreateTable per table (and the TTL setting) makes the same tables for about half the CPU time;
the ``aws`` fixture runs for most tests of the suite.
"""

from __future__ import annotations


def create_all() -> None:
    from chalicelib.store import base

    conn = base.connection()
    for model in base.all_models():
        schema = model._get_schema()
        conn.create_table(model.Meta.table_name, attribute_definitions=schema["attribute_definitions"],
                          key_schema=schema["key_schema"],
                          global_secondary_indexes=schema["global_secondary_indexes"],
                          local_secondary_indexes=schema["local_secondary_indexes"], billing_mode="PAY_PER_REQUEST")
        ttl = model._ttl_attribute()
        if ttl:
            conn.update_time_to_live(model.Meta.table_name, ttl.attr_name)
