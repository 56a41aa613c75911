/* scene: a cheap scene-cut detector on a small luma thumbnail. */
#ifndef IRC_SCENE_H
#define IRC_SCENE_H

#include <stddef.h>

#define IRC_THUMB_W 32
#define IRC_THUMB_MAX (IRC_THUMB_W * IRC_THUMB_W)

typedef struct {
  int tw, th;                       /* thumbnail size, fixed at configure */
  int have_prev;
  float prev[IRC_THUMB_MAX], prev_mean;
  float cur[IRC_THUMB_MAX];
} irc_scene;

/* Sets the thumbnail geometry for frames of @width x @height. */
void irc_scene_init (irc_scene *s, int width, int height);

/* Forgets the previous frame: the next one scores as a cut. */
void irc_scene_reset (irc_scene *s);

/* Scores planar float RGB @rgb against the previous frame and remembers it.
 * Returns a change in [0, ~1.5]: the mean absolute difference of the two
 * thumbnails after each is made mean-free and scaled to unit spread (so
 * fades and exposure changes barely count), or twice the change of mean
 * luma when that is larger (so cuts between flat frames count). Returns a
 * negative value for the first frame. */
float irc_scene_score (irc_scene *s, const float *rgb, int width, int height);

#endif
