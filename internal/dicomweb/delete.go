package dicomweb

import (
	"net/http"

	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// delete removes a study, series or instance (the DELETE of the DICOMweb
// "Delete" capability; permission goes through the Authorizer). A series
// or instance must belong to the study (and series) of the path.
func (s *Service) delete(w http.ResponseWriter, r *http.Request) error {
	t, err := targetOf(r)
	if err != nil {
		return err
	}
	if err := s.authorize(r, ActionDelete, t.resource()); err != nil {
		return err
	}
	level, id := archive.DeleteStudy, t.study
	switch t.level() {
	case index.SeriesLevel:
		level, id = archive.DeleteSeries, t.series
	case index.InstanceLevel:
		level, id = archive.DeleteInstance, t.instance
	}
	if t.level() != index.StudyLevel {
		// Check the hierarchy: the path must name where the entity is.
		q := index.Query{Level: t.level(), Limit: 1, Matches: []index.Match{
			{Key: index.StudyInstanceUID, Value: t.study},
			{Key: index.SeriesInstanceUID, Value: t.series},
		}}
		if t.instance != "" {
			q.Matches = append(q.Matches, index.Match{Key: index.SOPInstanceUID, Value: t.instance})
		}
		recs, err := s.arch.Index().Find(ctxOf(r), q)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			return errorf(http.StatusNotFound, "no %s in the archive", t)
		}
	}
	res, err := s.arch.Delete(ctxOf(r), level, id, "")
	if err != nil {
		return err
	}
	s.log.Info("deleted", "what", t.String(), "instances", res.Instances, "blobs_failed", res.BlobsFailed, "peer", r.RemoteAddr)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
