"""The storefront: which approved image each shopper sees (recommenders, candidates, shopper context, features, learned state) and the events that teach it."""
