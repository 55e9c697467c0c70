"""What talks to the outside world: message senders and upstream identity providers."""
