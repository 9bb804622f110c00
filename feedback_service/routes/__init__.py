"""feedback's REST routes, one module per resource: `feedback` (replies, reviews, callbacks,
ratings and the callback queue), `feedback_view` (an appeal's feedback, answered at once
or when it changes), `links` (rating links), `subscriptions` (webhooks and what
was delivered), `leadership` (the departments' leadership channels), `calendar` (the
working-day calendar version in use); what they share is in `deps`, their answers' models
in `feedback_service.views`. main.py joins the routers."""
