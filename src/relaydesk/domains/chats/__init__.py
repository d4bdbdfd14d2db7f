"""Live chats: visitors on a property's widget and the agents who answer them."""
