"""Caffe net definitions and their weights, from file to caffe.Net: the
prototxt patches, the model check that runs before Caffe sees a file, and
the loading."""
