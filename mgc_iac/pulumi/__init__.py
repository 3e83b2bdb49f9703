"""The Pulumi side: the program that declares the graph, the state export, and the Python language host."""
