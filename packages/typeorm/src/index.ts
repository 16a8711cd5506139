// Scaffold: the package API is being written (see the open issue for this package).
export {};
