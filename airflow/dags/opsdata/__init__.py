"""Code the ops node's DAGs share; not DAGs themselves (.airflowignore)."""
