"""One module per page; each exposes render(ctx). Pages hold no SQL: they call queries.run()."""
