"""peerlearn's recommender: embeddings, index, tagging, graph, scores, assignment, topics,
evaluation, reports and the CLI. Imports ``kg``'s public names; ``kg`` never imports this."""
