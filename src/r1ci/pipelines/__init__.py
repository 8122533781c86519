"""End-to-end pipelines: the top of the library, each chaining the stages below (eval, train) into one run."""
