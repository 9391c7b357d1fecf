"""prodimg's models: pure PyTorch + NumPy + Pillow.

This package never imports Django. It takes configs (dataclasses), tensors, arrays, PIL images and paths, and
returns the same; the plugin's services convert shop objects to these inputs and store the results.
"""
