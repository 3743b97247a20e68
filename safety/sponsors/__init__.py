"""The sponsors a CRO works for: the tenants every case, report, product, study, site,
obligation and message belongs to, and each one's settings (sender, gateways, case ids, time
zone)."""
