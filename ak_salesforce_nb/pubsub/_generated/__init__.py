"""Generated from ../pubsub_api.proto by grpcio-tools; do not edit."""

PROTO_SHA256 = "8bceb4bc5f4e597bae2a277de0480a8003a9090a25ad5b76b35699bd72b13ba5"
