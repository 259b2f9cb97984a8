-- Is the database there? (/readyz of beacon-dashboard)
SELECT 1
