DROP TABLE meeting_participants;
DROP TABLE meetings;
