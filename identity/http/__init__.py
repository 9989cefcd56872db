"""HTTP plumbing shared by the endpoints: the error frame, client authentication from a request,
forms, CSRF, CORS, outages, throttling, rendering and the user's session state."""
