"""cnn-vis's regularisers, each returning (loss, gradient of the loss): the
p-norm that keeps pixels in range and the total variation that smooths them,
in the original's order of float operations (their bits match its).
"""
import numpy as np


def p_norm(x, p=6.0, scale=10.0):
    """The p-th power of the p-norm of x / scale: keeps pixels in range."""
    loss = (np.abs(x / scale) ** p).sum()
    grad = p / scale * np.sign(x / scale) * np.abs(x / scale) ** (p - 1)
    return loss, grad


def _differences(x, operator):
    """Horizontal and vertical image differences under `operator`."""
    if operator == 'naive':
        x_diff = x[:, :, :-1, :-1] - x[:, :, :-1, 1:]
        y_diff = x[:, :, :-1, :-1] - x[:, :, 1:, :-1]
    elif operator == 'sobel':
        x_diff = x[:, :, :-2, 2:] + 2 * x[:, :, 1:-1, 2:] + x[:, :, 2:, 2:]
        x_diff -= x[:, :, :-2, :-2] + 2 * x[:, :, 1:-1, :-2] + x[:, :, 2:, :-2]
        y_diff = x[:, :, 2:, :-2] + 2 * x[:, :, 2:, 1:-1] + x[:, :, 2:, 2:]
        y_diff -= x[:, :, :-2, :-2] + 2 * x[:, :, :-2, 1:-1] + x[:, :, :-2, 2:]
    elif operator == 'sobel_squish':
        x_diff = x[:, :, :-2, 1:-1] + 2 * x[:, :, 1:-1, 1:-1] + x[:, :, 2:, 1:-1]
        x_diff -= x[:, :, :-2, :-2] + 2 * x[:, :, 1:-1, :-2] + x[:, :, 2:, :-2]
        y_diff = x[:, :, 1:-1, :-2] + 2 * x[:, :, 1:-1, 1:-1] + x[:, :, 1:-1, 2:]
        y_diff -= x[:, :, :-2, :-2] + 2 * x[:, :, :-2, 1:-1] + x[:, :, :-2, 2:]
    else:
        raise ValueError('Unrecognized operator %s' % operator)
    return x_diff, y_diff


def _spread_differences(dx, dx_diff, dy_diff, operator):
    """Add the gradients of the differences back onto the pixels they came from."""
    if operator == 'naive':
        dx[:, :, :-1, :-1] += dx_diff + dy_diff
        dx[:, :, :-1, 1:] -= dx_diff
        dx[:, :, 1:, :-1] -= dy_diff
    elif operator == 'sobel':
        dx[:, :, :-2, :-2] += -dx_diff - dy_diff
        dx[:, :, :-2, 1:-1] += -2 * dy_diff
        dx[:, :, :-2, 2:] += dx_diff - dy_diff
        dx[:, :, 1:-1, :-2] += -2 * dx_diff
        dx[:, :, 1:-1, 2:] += 2 * dx_diff
        dx[:, :, 2:, :-2] += dy_diff - dx_diff
        dx[:, :, 2:, 1:-1] += 2 * dy_diff
        dx[:, :, 2:, 2:] += dx_diff + dy_diff
    else:  # sobel_squish
        dx[:, :, :-2, :-2] += -dx_diff - dy_diff
        dx[:, :, :-2, 1:-1] += dx_diff - 2 * dy_diff
        dx[:, :, :-2, 2:] += -dy_diff
        dx[:, :, 1:-1, :-2] += -2 * dx_diff + dy_diff
        dx[:, :, 1:-1, 1:-1] += 2 * dx_diff + 2 * dy_diff
        dx[:, :, 1:-1, 2:] += dy_diff
        dx[:, :, 2:, :-2] += -dx_diff
        dx[:, :, 2:, 1:-1] += dx_diff


def tv_norm(x, beta=2.0, operator='naive'):
    """Total variation of x (1 x C x H x W): the image gradient's magnitude
    to the power beta, summed; keeps the picture smooth."""
    x_diff, y_diff = _differences(x, operator)
    grad_norm2 = x_diff ** 2.0 + y_diff ** 2.0
    grad_norm2[grad_norm2 < 1e-3] = 1e-3  # keeps beta < 2 finite where the image is flat
    loss = np.sum(grad_norm2 ** (beta / 2.0))
    dgrad_norm2 = (beta / 2.0) * grad_norm2 ** (beta / 2.0 - 1.0)
    dx = np.zeros_like(x)
    _spread_differences(dx, 2.0 * x_diff * dgrad_norm2, 2.0 * y_diff * dgrad_norm2, operator)
    return loss, dx


def scaled_tv_norm(x, scale, beta, operator):
    """tv_norm of x / scale, with its gradient with respect to x."""
    loss, grad = tv_norm(x / scale, beta=beta, operator=operator)
    grad /= scale
    return loss, grad
