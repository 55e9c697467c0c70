"""The hosted login: a flow of steps (password or upstream, phone, code, confirmation)
that ends by opening a session and answering the authorization request.

``flow`` walks one login (read its docstring first); ``state`` is what a flow remembers;
one module per step; ``routes`` gives every page its address; ``pages`` is what the
pages share.
"""
