"""The published partner contract: what each partner role receives from us and what it sends back.

`routes.OPERATIONS` is the one table both sides are built from (our HTTP adapters, the simulator service, the
OpenAPI document), so a path or a message type cannot differ between them."""
