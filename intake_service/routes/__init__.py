"""intake's REST routes under /v1 (Open311's are in `intake_service.open311`); `main` joins
their routers. Request models are in `requests`, what routes share in `deps`, response
models in `intake_service.views`."""
