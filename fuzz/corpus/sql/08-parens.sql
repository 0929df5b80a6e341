select (((( x
