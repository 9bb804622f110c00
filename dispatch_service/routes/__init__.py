"""dispatch's REST routes: `work_orders` (reads and queues), `department` and `centre` (the
commands on a work order), `catalogue` (departments, routing, SLA policy); what they share is
in `deps`, their answers' models in `dispatch_service.views`. main.py joins the routers."""
