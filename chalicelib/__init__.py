"""gjj: the Housing Provident Fund (住房公积金) online-services backend."""
